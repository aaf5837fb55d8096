/*
 * bedrock_content.c - content parts Converse takes inline: images and documents (notes §7.3).
 *
 * Both must be base64 data: URLs: the plugin does no I/O and Bedrock does not fetch URLs.
 */
#include <stdio.h>
#include <string.h>

#include "bedrock.h"

/* data:image/<fmt>;base64,<b64> -> {"image":{"format","source":{"bytes"}}} */
int bedrock_image_block(struct aigw_call *call, cJSON *blocks, const char *url)
{
    static const struct {
        const char *mime;
        const char *format;
    } formats[] = {{"image/png", "png"},
                   {"image/jpeg", "jpeg"},
                   {"image/jpg", "jpeg"},
                   {"image/gif", "gif"},
                   {"image/webp", "webp"}};
    if (strncmp(url, "data:", 5) != 0)
        return bedrock_reject(call, AIGW_EINVAL,
                              "Bedrock accepts only inline images: send image_url as a "
                              "data:image/...;base64 URL, not an http(s) URL");
    const char *mime = url + 5, *semi = strchr(mime, ';'), *comma = strchr(mime, ',');
    if (!semi || !comma || semi > comma || strncmp(semi, ";base64,", 8) != 0)
        return bedrock_reject(call, AIGW_EINVAL, "image data URL is not base64");
    const char *format = NULL;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (strlen(formats[i].mime) == (size_t)(semi - mime) &&
            !strncmp(mime, formats[i].mime, (size_t)(semi - mime)))
            format = formats[i].format;
    if (!format)
        return bedrock_reject(call, AIGW_EINVAL, "image type must be png, jpeg, gif or webp");
    cJSON *b = cJSON_CreateObject(), *img = cJSON_AddObjectToObject(b, "image");
    cJSON *src = img ? cJSON_AddObjectToObject(img, "source") : NULL;
    if (!src || !cJSON_AddStringToObject(img, "format", format) ||
        !cJSON_AddStringToObject(src, "bytes", comma + 1)) {
        cJSON_Delete(b);
        return AIGW_ENOMEM;
    }
    cJSON_AddItemToArray(blocks, b);
    return 0;
}

/* A document name as Converse allows it: letters, digits, hyphens, parentheses, brackets and
 * single spaces; the file extension goes (its dot is not allowed). */
static void document_name(const char *filename, int n, char *out, size_t cap)
{
    size_t len = filename ? strlen(filename) : 0, o = 0;
    const char *dot = filename ? strrchr(filename, '.') : NULL;
    if (dot && dot > filename)
        len = (size_t)(dot - filename);
    for (size_t i = 0; i < len && o + 1 < cap; i++) {
        char ch = filename[i];
        int keep = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                   (ch >= '0' && ch <= '9') || strchr("-()[]", ch) != NULL;
        if (ch == ' ' || ch == '\t') {
            if (o > 0 && out[o - 1] != ' ')
                out[o++] = ' ';
        } else {
            out[o++] = keep ? ch : '-';
        }
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
    if (o == 0)
        snprintf(out, cap, "document %d", n);
}

int bedrock_document_block(struct aigw_call *call, int n, cJSON *blocks, const cJSON *file)
{
    static const struct {
        const char *mime;
        const char *format;
    } formats[] = {
        {"application/pdf", "pdf"},
        {"text/csv", "csv"},
        {"application/msword", "doc"},
        {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"},
        {"application/vnd.ms-excel", "xls"},
        {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"},
        {"text/html", "html"},
        {"text/plain", "txt"},
        {"text/markdown", "md"},
    };
    const char *data = aigw_json_str(file, "file_data");
    if (!data)
        return bedrock_reject(call, AIGW_ENOTSUP,
                              "file parts need file_data: Bedrock cannot read OpenAI file ids");
    const char *semi = strncmp(data, "data:", 5) ? NULL : strstr(data, ";base64,");
    if (!semi)
        return bedrock_reject(call, AIGW_EINVAL, "file_data is not a base64 data: URL");
    const char *mime = data + 5, *format = NULL;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (strlen(formats[i].mime) == (size_t)(semi - mime) &&
            !strncmp(mime, formats[i].mime, (size_t)(semi - mime)))
            format = formats[i].format;
    if (!format)
        return bedrock_reject(call, AIGW_ENOTSUP,
                              "file type must be pdf, csv, doc, docx, xls, xlsx, html, txt or md");
    char name[128];
    document_name(aigw_json_str(file, "filename"), n, name, sizeof name);
    cJSON *b = cJSON_CreateObject(), *doc = cJSON_AddObjectToObject(b, "document");
    cJSON *src = doc ? cJSON_AddObjectToObject(doc, "source") : NULL;
    if (!src || !cJSON_AddStringToObject(doc, "format", format) ||
        !cJSON_AddStringToObject(doc, "name", name) ||
        !cJSON_AddStringToObject(src, "bytes", semi + 8)) {
        cJSON_Delete(b);
        return AIGW_ENOMEM;
    }
    cJSON_AddItemToArray(blocks, b);
    return 0;
}
