__version__ = "2.7.1+gitb7c90d0"
git_version = "b7c90d0"
