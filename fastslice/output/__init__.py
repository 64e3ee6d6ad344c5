"""Output: where the clips go, what they are called, and the records of a sliced set.

* ``outputs``: one input's clip folder, marker and temporaries, without loss, doubles or clashes;
* ``clipnames`` (``--name`` templates), ``layouts`` (a project's folders and names);
* the records of a set, one job each: ``rows`` (``Clip``, the row every record is made of),
  ``markers`` (beside each input's clips), ``manifests`` (``--manifest``), ``records`` (a run's
  clips as they arrive), ``labels`` (``--labels``), ``archive`` (``--zip``); ``exports``: the
  lists next tools read.
"""
