"""The machinery that builds and re-runs the book, apart from the models readers import.

* :mod:`~perfcost.book.inputs`: every chapter parameter's valid range, checked before a run;
* :mod:`~perfcost.book.chapters`: find a chapter, run it with papermill, read its results;
* :mod:`~perfcost.book.cli`: ``perfcost list``, ``perfcost rerun``;
* :mod:`~perfcost.book.results`: glue a chapter's results and read them back;
* :mod:`~perfcost.book.measured`: one chapter reading another's published results;
* :mod:`~perfcost.book.charts` (with ``charts.js``) and :mod:`~perfcost.book.sphinxext`:
  interactive charts that draw offline;
* ``*_verdicts``: the sentences a chapter computes from its results instead of typing them.

Nothing in the models (``perfcost.capacity``, ``perfcost.cost``, ``perfcost.batching``,
``perfcost.compression``, ...) imports from here.
"""
