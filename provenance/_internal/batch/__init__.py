"""The engines behind ``provenance.batch.verify_many`` and the per-file function they share.

``task.verify_file`` verifies one file with a ``Verifier`` cached per worker; ``local``
runs it in this process or a process pool, ``dask`` on the workers of a Dask cluster.
"""
