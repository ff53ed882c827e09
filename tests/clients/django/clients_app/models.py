"""Models of the Django client suite.

DjAuthor is distributed by id; DjBook by author_id (co-located with
DjAuthor; its primary key id is unique per shard only, given by the test);
DjCounter keeps Django's default BigAutoField (bigserial) on a table
distributed by k: the known sequence gap. DjNote is a local table.
"""

from django.db import models


class DjAuthor(models.Model):
    id = models.BigIntegerField(primary_key=True)
    name = models.CharField(max_length=100)
    born = models.DateField(null=True)
    score = models.IntegerField(default=0)

    class Meta:
        db_table = "dj_author"


class DjBook(models.Model):
    id = models.BigIntegerField(primary_key=True)
    author = models.ForeignKey(DjAuthor, on_delete=models.CASCADE, related_name="books")
    title = models.TextField()
    published = models.DateTimeField(null=True)

    class Meta:
        db_table = "dj_book"


class DjCounter(models.Model):
    k = models.IntegerField()
    label = models.CharField(max_length=20)

    class Meta:
        db_table = "dj_counter"


class DjNote(models.Model):
    text = models.TextField()

    class Meta:
        db_table = "dj_note"
