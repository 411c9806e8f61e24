from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

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
