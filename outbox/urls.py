from django.urls import path

from outbox import views

app_name = "outbox"

# IDs are the command's (`outbox list`'s first column, or a unique start of one, or "latest").
urlpatterns = [
    path("", views.message_list, name="list"),
    path("api/messages/", views.api_list, name="api_list"),
    path("api/messages/<slug:ref>/", views.api_message, name="api_message"),
    path("api/messages/<slug:ref>/links/", views.api_links, name="api_links"),
    path("clear/", views.message_clear, name="clear"),
    path("<slug:ref>/", views.message_detail, name="detail"),
    path("<slug:ref>/html/", views.message_html, name="html"),
    path("<slug:ref>/raw/", views.message_raw, name="raw"),
    path("<slug:ref>/attachments/<int:number>/", views.message_attachment, name="attachment"),
    path("<slug:ref>/delete/", views.message_delete, name="delete"),
]
