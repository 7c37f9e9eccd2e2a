"""Input channels of the assistant.

Rasa imports a channel module in every server process it starts, before any message is
handled, so this is where process settings Rasa has no option for are applied.
"""

from bot import action_timeout, endpoint_sessions, event_types, graph_runner, heap, metrics_hooks, schema_validation

action_timeout.apply()
schema_validation.apply()
event_types.apply()
graph_runner.apply()
heap.apply()
endpoint_sessions.apply()
metrics_hooks.apply()
