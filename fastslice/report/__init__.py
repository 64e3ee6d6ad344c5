"""Reports: a recording's levels and envelope, where it would be cut, how long a set's clips are.

* ``envelopes``: RMS frames read once in constant memory; ``report``: ``analyze`` and ``stats``;
* ``plot``: the envelope drawn (matplotlib).
"""
