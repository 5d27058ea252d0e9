"""The user's jobs on a score, by name.

Verbs: :func:`~symbolic.jobs.arrange.convert`, :func:`~symbolic.jobs.arrange.accompany`,
:func:`~symbolic.jobs.arrange.continue_score` (settings: :class:`~symbolic.jobs.config.JobConfig`),
:func:`~symbolic.jobs.generate.generate_scores`, :func:`~symbolic.jobs.demo.run_demo`,
:func:`~symbolic.jobs.style_input.resolve_job_style` (a style from text or an example piece),
:func:`~symbolic.jobs.plan.generate_planned` (the bar/part loop under
:mod:`~symbolic.jobs.rules`, the style's part rules).

Torch is imported by the modules that sample, not by this package's import.
"""
