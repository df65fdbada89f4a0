"""mtgreet: proves that requirements.txt installed a local package."""


def greet(name):
    return "Greetings, %s!" % name
