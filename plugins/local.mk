# One fragment per provider: plugins/<vkey>/local.mk builds plugins/<vkey>.la from
# plugins/<vkey>/*.c and adds that provider's tests. plugins/common is what several share.
include plugins/common/local.mk
include plugins/openai/local.mk
include plugins/azure-openai/local.mk
include plugins/azure-foundry/local.mk
include plugins/mistral/local.mk
include plugins/groq/local.mk
include plugins/deepseek/local.mk
include plugins/together/local.mk
include plugins/perplexity/local.mk
include plugins/fireworks/local.mk
include plugins/ai21/local.mk
include plugins/xai/local.mk
include plugins/hugging-face/local.mk
include plugins/anthropic/local.mk
include plugins/gemini/local.mk
include plugins/vertex-ai/local.mk
include plugins/cohere/local.mk
include plugins/ollama/local.mk
include plugins/bedrock/local.mk
include plugins/replicate/local.mk
include plugins/guards/local.mk
