"""The central station: every chair recording on the clinic's shared database, on one screen."""
