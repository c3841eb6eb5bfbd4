"""``mt reproduce``: the paper's experiments (catalogue), their runs (runner), the committed
store of their results (store) and the tables written from it (tables)."""
