"""Storage adapters: the database (``storage.db``) and evidence blob stores (``storage.blobs``)."""
