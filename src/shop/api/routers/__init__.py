"""One Powertools Router per domain; ``shop.api.app`` includes them in both resolvers."""
