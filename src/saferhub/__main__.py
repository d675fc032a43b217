from saferhub.cli import main

if __name__ == "__main__":  # a Dask or multiprocessing worker re-imports this module: no second run
    main()
