"""The API function: one handler (``shop.api.handler.handler``) for API Gateway and ALB events."""
