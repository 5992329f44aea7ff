"""Walking on flat ground: the task the sim bridge and evaluator run."""
