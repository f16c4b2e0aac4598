"""The 2014 ``mega_client`` package, in Python 3 and safe: replies are read as literals, never ``eval``'d.

``from mega_client import sender`` then ``sender.MegaClient(host=MEGA_HOST, cmd='get_instance')``
works as it did; see :mod:`mega_client.sender`.
"""
