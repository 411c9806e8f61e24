# tasks/forms.py of the lesson, as written there.
from django import forms
from django.core.mail import send_mail

from .models import Task


class TaskForm(forms.ModelForm):
    class Meta:
        model = Task
        fields = ["title", "description"]

    def clean_title(self):
        title = self.cleaned_data["title"]
        if title == "Test Task":
            send_mail(
                subject="Попытка создать тестовую задачу",
                message=f'Пользователь попробовал завести задачу с именем "{title}"',
                from_email="task_form@task.local",
                recipient_list=["admin@task.local"],
                fail_silently=True,
            )
        return title
