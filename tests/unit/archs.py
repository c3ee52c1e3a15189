"""Architecture fragments shared by the unit tests."""

# The smallest facility a file may declare: one hall, its power and the chain above it.
ONE_HALL_FACILITY = """
[[hall]]
id = "A"
[[node]]
id = "utility"
kind = "facility"
role = "utility"
[[node]]
id = "ats"
kind = "facility"
role = "ats"
[[node]]
id = "ups"
kind = "facility"
role = "ups"
[[node]]
id = "pdu_a"
kind = "facility"
role = "pdu"
hall = "A"
"""
