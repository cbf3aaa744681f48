"""``manage.py`` commands: ``upstreams`` runs the simulator; others run the rest of the demo."""
