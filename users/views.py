from django.contrib.auth import views as auth_views
from django.shortcuts import render

from users.forms import PasswordResetForm


def home(request):
    return render(request, "home.html")


class PasswordResetView(auth_views.PasswordResetView):
    form_class = PasswordResetForm
