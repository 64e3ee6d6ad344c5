"""One input, sliced: the plan made once from the options and the source, then the stages.

* ``plan``: ``make_plan`` takes every decision; the stages receive its frozen values;
* ``files``: ``slice_file``, the per-file loop that chains reading, cutting, rendering, writing
  and output.
"""
