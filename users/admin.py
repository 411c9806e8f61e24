from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from users.forms import AdminAuthenticationForm, UserCreationForm
from users.models import User
from users.tasks import enqueue_signup_confirmation
from users.views import site_url

# The admin's login is throttled like the site's (users.forms.ThrottledLoginMixin).
admin.site.login_form = AdminAuthenticationForm


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    add_form = UserCreationForm
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("username", "email", "usable_password", "password1", "password2")}),
    )
    fieldsets = (
        *BaseUserAdmin.fieldsets[:1],
        (BaseUserAdmin.fieldsets[1][0], {"fields": ("first_name", "last_name", "email", "email_confirmed")}),
        *BaseUserAdmin.fieldsets[2:],
    )
    list_display = (*BaseUserAdmin.list_display, "email_confirmed")
    list_filter = (*BaseUserAdmin.list_filter, "email_confirmed")
    actions = ("mark_confirmed", "resend_confirmation")

    @admin.action(description=_("Mark addresses confirmed"), permissions=("change",))
    def mark_confirmed(self, request, queryset):
        count = queryset.filter(email_confirmed=False).update(email_confirmed=True)
        self.message_user(
            request,
            ngettext("%(count)d address marked confirmed.", "%(count)d addresses marked confirmed.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Send the confirmation again"), permissions=("change",))
    def resend_confirmation(self, request, queryset):
        """Queue a new confirmation for each selected unconfirmed address, as the resend page does."""
        addresses = set(queryset.filter(email_confirmed=False).exclude(email="").values_list("email", flat=True))
        for email in addresses:
            enqueue_signup_confirmation(email, site_url(request), translation.get_language())
        self.message_user(
            request,
            ngettext("%(count)d confirmation queued.", "%(count)d confirmations queued.", len(addresses))
            % {"count": len(addresses)},
            messages.SUCCESS,
        )
