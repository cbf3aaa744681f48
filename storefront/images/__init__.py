"""Image uploads resized on task workers (issue 15).

``POST /api/images/`` checks an upload (type sniffed from its bytes, size and
pixel limits), stores the original under a generated name and queues
``tasks.process_image`` through Django's ``django.tasks``; a task worker
(``manage.py db_worker`` by default, ``celery -A storefront worker`` to scale
out: ``STOREFRONT_TASKS``) writes the WebP variants and reports progress on the
job row and the live bus. See docs/images.md.
"""
