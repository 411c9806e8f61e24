"""The lesson's views with their mail code as written there; ``new_task`` is the page around the lesson's form."""

from django.core.mail import EmailMessage, send_mail
from django.http import HttpResponse
from django.shortcuts import render

from .forms import TaskForm
from .models import Category


def category_detail(request, category_id):
    template_name = "notes/category_detail.html"
    category = Category.objects.get(id=category_id)
    context = {"category": category}
    send_mail(
        subject="Вы получили данные о категории",
        message="Вы довольны нашим сервисом?",
        from_email="qwerty@mail.ru",
        recipient_list=["user1@mail.ru", "user2@mail.ru"],
        fail_silently=True,
    )
    return render(request, template_name, context)


def send_with_attachment(request):
    email = EmailMessage(
        subject="Отчёт",
        body="Во вложении файл.",
        from_email="your_email@gmail.com",
        to=["receiver@example.com"],
    )
    email.attach_file("report.pdf")
    email.send()
    return HttpResponse("Письмо с файлом отправлено!")


def new_task(request):
    form = TaskForm(request.POST or None)
    if form.is_valid():
        form.save()
        return HttpResponse("saved")
    return HttpResponse(f"form: {form.errors.as_text() or 'empty'}")


def nothing_sent(request, category_id):
    """The same page without its mail: what the lesson's view costs a visitor beside it (bench/lesson_bench.py)."""
    return render(request, "notes/category_detail.html", {"category": Category.objects.get(id=category_id)})
