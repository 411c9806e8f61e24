"""The delivery queue: every message the site sends, one ``Delivery`` row each, attempted by the task worker.

It knows no kind of message and no user model. A kind registers how its message is
sent (``delivery.kinds.register``); this app records each delivery, claims and attempts
it, retries a temporary failure, gives up and tells ``ADMINS``, recovers the attempts of
a worker that died, and says whether mail is flowing:

* ``models``: ``Delivery`` (one row per message) and ``WorkerBeat`` (one per worker);
* ``kinds``: the registry of kinds of message, each with how it is sent and what it is called;
* ``attempts``: recording a request's deliveries, claiming, attempting, retrying, giving up;
* ``worker``: the workers' heartbeat; the tasks of a dead worker run again;
* ``status``: whether mail is flowing, and queueing failed deliveries again (``mailqueue``).
"""
