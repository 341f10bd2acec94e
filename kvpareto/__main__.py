from kvpareto.cli import main

main()
