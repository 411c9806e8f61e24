"""The site's own pages that are not account pages: the web outbox (``core.web.outbox``)."""
