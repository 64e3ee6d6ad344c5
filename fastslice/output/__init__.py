"""Output: where the clips go, what they are called, and the records of a sliced set.

* ``outputs``: one input's clip folder, marker and temporaries, without loss, doubles or clashes;
* ``clipnames`` (``--name`` templates), ``layouts`` (a project's folders and names);
* ``manifest``: clip rows, markers, manifests, the zip; ``exports``: the lists next tools read.
"""
