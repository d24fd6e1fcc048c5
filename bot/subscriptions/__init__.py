"""The status site's subscribers: email, webhooks and staff channels told of each post."""
