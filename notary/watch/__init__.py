"""``notary watch DIR``: notarise recordings as a dialer finishes writing them (docs/watcher.md).

:mod:`.rules` (which files, when finished, which case and kind), :mod:`.journal` (what was
done, durable), :mod:`.inotify` (Linux file events), :mod:`.watcher` (the loop). Like the
client, it talks to the service over HTTP only: neither web3 nor the database is imported.
"""
