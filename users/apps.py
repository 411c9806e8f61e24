from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "users"
    verbose_name = "Users"

    def ready(self):
        from users import tasks  # the queue's request tasks load with the app, in every process

        tasks.register_kinds()
