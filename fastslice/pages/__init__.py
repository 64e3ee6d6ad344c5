"""The pages: ``tune`` (choose the cuts by eye and ear) and ``review`` (look, listen, mark clips),
as HTML files or inline in a notebook (``inline``), with their templates beside them.
"""
