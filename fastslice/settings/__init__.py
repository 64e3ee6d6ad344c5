"""Settings: every option, declared once (``declarations``) and validated once (``options``).

Only the plan (``fastslice.run.plan``) reads a ``SliceOptions``; the stages get the plan.
"""
