from django.contrib import admin

from delivery.models import Delivery, WorkerBeat


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """Read-only: deliveries change through the worker and ``manage.py mailqueue retry``."""

    list_display = ["id", "kind", "subject", "email", "status", "attempts", "updated_at", "last_error"]
    list_filter = ["status", "kind"]
    search_fields = ["email", "subject"]
    ordering = ["-id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WorkerBeat)
class WorkerBeatAdmin(admin.ModelAdmin):
    list_display = ["worker_id", "hostname", "pid", "started_at", "last_seen", "stopped_at"]
    ordering = ["-last_seen"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
