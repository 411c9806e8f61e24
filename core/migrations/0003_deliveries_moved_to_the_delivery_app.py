# The delivery queue's models moved into their own app (delivery/), which copied the rows first.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0002_delivery_options'),
        ('delivery', '0002_copy_from_core'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='delivery',
            name='delivery_status_next_idx',
        ),
        migrations.RemoveIndex(
            model_name='delivery',
            name='delivery_status_updated_idx',
        ),
        migrations.RemoveConstraint(
            model_name='delivery',
            name='delivery_once_per_request',
        ),
        migrations.DeleteModel(
            name='WorkerBeat',
        ),
        migrations.DeleteModel(
            name='Delivery',
        ),
    ]
