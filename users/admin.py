from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from users.forms import AdminAuthenticationForm, UserCreationForm
from users.models import User

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
    actions = ("mark_confirmed",)

    @admin.action(description=_("Mark addresses confirmed"), permissions=("change",))
    def mark_confirmed(self, request, queryset):
        count = queryset.filter(email_confirmed=False).update(email_confirmed=True)
        self.message_user(
            request,
            ngettext("%(count)d address marked confirmed.", "%(count)d addresses marked confirmed.", count)
            % {"count": count},
            messages.SUCCESS,
        )
