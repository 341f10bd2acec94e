"""The testbed: a word-level tokenizer and small Llama/Qwen2/Mistral models trained to retrieve."""
