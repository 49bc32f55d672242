"""Case files for the runner's own tests, which drive scripted (fake) adapters."""


def sleep_case(case_id, timeout=4):
    """A case whose only step is main's sleep(0): what the scripted adapters' `good` mode passes."""
    return """id: %s
title: The controller sleeps for no time
spec: queue.md#fifo
tags: [state]
level: required
timeout: %s
steps:
  - {call: sleep, args: [0], expect: {returns: null}}
""" % (case_id, timeout)


def case_tree(root, case_id, text):
    """Writes `text` as the case `case_id` ("group.name") below root, and returns root."""
    group, name = case_id.split(".", 1)
    (root / group).mkdir(parents=True, exist_ok=True)
    (root / group / (name + ".yaml")).write_text(text)
    return root
