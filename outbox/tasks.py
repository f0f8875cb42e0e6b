from django.tasks import task

from . import services


@task(queue_name="mail")
def deliver_message(message_id: int) -> str:
    """Send one stored message; see services.message_deliver."""
    return services.message_deliver(message_id=message_id)
