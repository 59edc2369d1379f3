from calsink.cli import main

main()
