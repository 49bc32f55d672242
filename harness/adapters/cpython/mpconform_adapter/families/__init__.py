"""One module per type family of spec/api.yaml: a new primitive is a new module here, listed in
FAMILIES (objects.py builds the adapter's tables from them)."""

from . import barrier, buffers, condition, connection, event, global_variable, locks, process, queues, shared

# In the order of hello's capabilities.types.
FAMILIES = (queues, connection, buffers, global_variable, process, shared, locks, event, condition, barrier)
