from django.urls import path

from core.web import outbox

app_name = "outbox"

# IDs are the command's (`outbox list`'s first column, or a unique start of one, or "latest").
urlpatterns = [
    path("", outbox.message_list, name="list"),
    path("api/messages/", outbox.api_list, name="api_list"),
    path("api/messages/<slug:ref>/", outbox.api_message, name="api_message"),
    path("api/messages/<slug:ref>/links/", outbox.api_links, name="api_links"),
    path("clear/", outbox.message_clear, name="clear"),
    path("<slug:ref>/", outbox.message_detail, name="detail"),
    path("<slug:ref>/html/", outbox.message_html, name="html"),
    path("<slug:ref>/raw/", outbox.message_raw, name="raw"),
    path("<slug:ref>/attachments/<int:number>/", outbox.message_attachment, name="attachment"),
    path("<slug:ref>/delete/", outbox.message_delete, name="delete"),
]
