from calsink.cli import console

console()
