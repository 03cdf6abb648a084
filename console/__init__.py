"""The warning centre's live console (``riskmon console``): a web process of its own that
follows the alerts, tasks and acknowledgements topics, serves the feed as Server-Sent Events,
pages of alerts, enterprises, tasks and areas, and publishes acknowledgements.

Pure parts: :mod:`console.cursor` (the SSE resume cursor), :mod:`console.filters`,
:mod:`console.index` (recent alerts and their acknowledgements), :mod:`console.i18n`. The
I/O shell: :mod:`console.kafka` (readers and the producer), :mod:`console.stream` (the SSE
route), :mod:`console.acks`, :mod:`console.pages`, :mod:`console.auth`, :mod:`console.web`
(the route table and the aiohttp application) and :mod:`console.service` (the composition
root, from settings).
"""

__all__: list[str] = []
