/// The OpenAPI 3.1 description of Kongflow's HTTP API, served at `/api/v1/openapi.json`. A test
/// checks that its paths and methods are exactly the router's.
enum OpenAPIDocument {
    static let json = #"""
    {
      "openapi": "3.1.0",
      "info": {
        "title": "Kongflow API",
        "version": "0.1.0",
        "description": "trigger.dev v2-compatible endpoint management, indexing and runs. Errors are always {\"error\": \"<message>\"}."
      },
      "components": {
        "securitySchemes": {
          "apiKey": {"type": "http", "scheme": "bearer", "description": "The environment's secret API key, tr_<dev|prod|stg|prev>_…"}
        },
        "schemas": {
          "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
          "IndexStatus": {"type": "string", "enum": ["PENDING", "STARTED", "SUCCESS", "FAILURE"]},
          "IndexSource": {"type": "string", "enum": ["MANUAL", "API", "INTERNAL", "HOOK"]},
          "IndexStats": {
            "type": "object",
            "required": ["jobs", "sources", "dynamicTriggers", "dynamicSchedules"],
            "properties": {
              "jobs": {"type": "integer"}, "sources": {"type": "integer"}, "dynamicTriggers": {"type": "integer"},
              "dynamicSchedules": {"type": "integer"}, "disabledJobs": {"type": "integer"}
            }
          },
          "RunStatus": {"type": "string", "enum": ["PENDING", "QUEUED", "EXECUTING", "WAITING_TO_CONTINUE", "WAITING_TO_EXECUTE", "SUCCESS", "FAILURE", "CANCELED", "TIMED_OUT"]},
          "TaskStatus": {"type": "string", "enum": ["PENDING", "WAITING", "RUNNING", "COMPLETED", "ERRORED", "CANCELED"]},
          "ApiEventLog": {
            "type": "object", "required": ["id", "name", "payload", "context", "timestamp", "deliverAt", "deliveredAt", "cancelledAt"],
            "properties": {
              "id": {"type": "string"}, "name": {"type": "string"}, "payload": {}, "context": {},
              "timestamp": {"type": "string", "format": "date-time"},
              "deliverAt": {"type": ["string", "null"], "format": "date-time"}, "deliveredAt": {"type": ["string", "null"], "format": "date-time"},
              "cancelledAt": {"type": ["string", "null"], "format": "date-time"}
            }
          },
          "SendEventBody": {
            "type": "object", "required": ["event"],
            "properties": {
              "event": {"type": "object", "required": ["name"], "properties": {
                "id": {"type": "string", "minLength": 1, "maxLength": 256}, "name": {"type": "string", "minLength": 1}, "source": {"type": "string"},
                "payload": {}, "context": {}, "timestamp": {"type": "string", "format": "date-time"}}},
              "options": {"type": "object", "properties": {
                "deliverAt": {"type": "string", "format": "date-time"}, "deliverAfter": {"type": "integer", "minimum": 0}, "accountId": {"type": "string"}}}
            }
          },
          "ServerTask": {
            "type": "object",
            "required": ["id", "name", "icon", "noop", "startedAt", "completedAt", "delayUntil", "status", "description", "properties", "params",
                         "output", "error", "parentId", "style", "operation", "idempotencyKey", "attempts", "context", "callbackUrl", "forceYield",
                         "childExecutionMode"],
            "properties": {
              "id": {"type": "string"}, "name": {"type": "string"}, "icon": {"type": ["string", "null"]}, "noop": {"type": "boolean"},
              "startedAt": {"type": ["string", "null"], "format": "date-time"}, "completedAt": {"type": ["string", "null"], "format": "date-time"},
              "delayUntil": {"type": ["string", "null"], "format": "date-time"}, "status": {"$ref": "#/components/schemas/TaskStatus"},
              "description": {"type": ["string", "null"]}, "properties": {}, "params": {}, "output": {}, "error": {"type": ["string", "null"]},
              "parentId": {"type": ["string", "null"]}, "style": {}, "operation": {"type": ["string", "null"]},
              "idempotencyKey": {"type": "string"}, "attempts": {"type": "integer"}, "context": {}, "callbackUrl": {"type": ["string", "null"]},
              "forceYield": {"type": "boolean"}, "childExecutionMode": {"type": "string", "enum": ["SEQUENTIAL", "PARALLEL"]}
            }
          },
          "Integration": {
            "type": "object", "required": ["id", "service", "authType", "createdAt", "updatedAt"],
            "properties": {
              "id": {"type": "string"}, "service": {"type": "string"}, "authType": {"type": "string", "enum": ["oauth2", "apiKey"]},
              "scopes": {"type": "array", "items": {"type": "string"}}, "createdAt": {"type": "string", "format": "date-time"},
              "updatedAt": {"type": "string", "format": "date-time"}
            }
          },
          "VersionedServerTask": {
            "description": "runTask's answer to SDK 2.3 (request header trigger-version: 2023-09-29; answer header trigger-version: 2023-09-29)",
            "type": "object", "required": ["task"],
            "properties": {
              "task": {"$ref": "#/components/schemas/ServerTask"},
              "cachedTasks": {"type": "object", "required": ["tasks"], "properties": {
                "tasks": {"type": "array", "items": {"type": "object"}}, "cursor": {"type": "string"}}}
            }
          },
          "RunTaskBody": {
            "type": "object", "required": ["idempotencyKey"],
            "properties": {
              "idempotencyKey": {"type": "string"}, "parentId": {"type": "string"}, "name": {"type": "string"}, "icon": {"type": "string"},
              "displayKey": {"type": "string"}, "noop": {"type": "boolean"}, "operation": {"type": "string"},
              "delayUntil": {"type": "string", "format": "date-time"}, "description": {"type": "string"}, "properties": {"type": "array"},
              "params": {}, "trigger": {}, "redact": {"type": "object"}, "connectionKey": {"type": "string"},
              "style": {"type": "object", "properties": {"style": {"type": "string", "enum": ["normal", "minimal"]}, "variant": {"type": "string"}}}
            }
          },
          "Run": {
            "type": "object", "required": ["id", "number", "status", "job", "event", "startedAt", "updatedAt", "completedAt", "executions"],
            "properties": {
              "id": {"type": "string", "format": "uuid"}, "number": {"type": "integer"}, "status": {"$ref": "#/components/schemas/RunStatus"},
              "job": {"type": "object", "properties": {"id": {"type": "string"}, "version": {"type": "string"}}},
              "event": {"type": ["string", "null"]},
              "startedAt": {"type": ["string", "null"], "format": "date-time"}, "updatedAt": {"type": "string", "format": "date-time"},
              "completedAt": {"type": ["string", "null"], "format": "date-time"}, "output": {}, "executions": {"type": "integer"},
              "tasks": {"type": "array", "items": {"type": "object"}}
            }
          },
          "RunPage": {
            "type": "object", "required": ["runs", "nextCursor"],
            "properties": {"runs": {"type": "array", "items": {"$ref": "#/components/schemas/Run"}}, "nextCursor": {"type": ["string", "null"]}}
          },
          "Event": {
            "type": "object", "required": ["id", "name", "createdAt", "updatedAt", "runs"],
            "properties": {
              "id": {"type": "string"}, "name": {"type": "string"}, "createdAt": {"type": "string", "format": "date-time"},
              "updatedAt": {"type": "string", "format": "date-time"},
              "runs": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "string"}, "status": {"$ref": "#/components/schemas/RunStatus"},
                       "startedAt": {"type": ["string", "null"]}, "completedAt": {"type": ["string", "null"]}}}}
            }
          },
          "IndexError": {"type": "object", "required": ["message"], "properties": {"message": {"type": "string"}, "raw": {}}},
          "Endpoint": {
            "type": "object",
            "required": ["id", "slug", "url", "indexingHookIdentifier", "environmentId", "organizationId", "projectId", "createdAt", "updatedAt"],
            "properties": {
              "id": {"type": "string", "format": "uuid"},
              "slug": {"type": "string", "maxLength": 100},
              "url": {"type": "string"},
              "indexingHookIdentifier": {"type": "string", "minLength": 10, "maxLength": 10},
              "environmentId": {"type": "string", "format": "uuid"},
              "organizationId": {"type": "string", "format": "uuid"},
              "projectId": {"type": "string", "format": "uuid"},
              "version": {"type": "string"},
              "sdkVersion": {"type": "string"},
              "createdAt": {"type": "string", "format": "date-time"},
              "updatedAt": {"type": "string", "format": "date-time"},
              "endpointIndex": {
                "type": "object", "required": ["id", "status"],
                "properties": {"id": {"type": "string", "format": "uuid"}, "status": {"$ref": "#/components/schemas/IndexStatus"}}
              }
            }
          },
          "EndpointIndex": {
            "type": "object",
            "required": ["id", "endpointId", "source", "sourceData", "reason", "status", "stats", "createdAt", "updatedAt"],
            "properties": {
              "id": {"type": "string", "format": "uuid"},
              "endpointId": {"type": "string", "format": "uuid"},
              "source": {"$ref": "#/components/schemas/IndexSource"},
              "sourceData": {},
              "reason": {"type": ["string", "null"]},
              "status": {"$ref": "#/components/schemas/IndexStatus"},
              "stats": {"oneOf": [{"$ref": "#/components/schemas/IndexStats"}, {"type": "null"}]},
              "error": {"$ref": "#/components/schemas/IndexError"},
              "createdAt": {"type": "string", "format": "date-time"},
              "updatedAt": {"type": "string", "format": "date-time"}
            }
          }
        },
        "responses": {
          "BadRequest": {"description": "Invalid input", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "Unauthorized": {"description": "Invalid or Missing API key", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "NotFound": {"description": "Not found", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "TooLarge": {"description": "Request body over 1 MiB", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        },
        "parameters": {
          "endpointSlug": {"name": "endpointSlug", "in": "path", "required": true, "schema": {"type": "string"}},
          "runId": {"name": "runId", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}},
          "taskId": {"name": "taskId", "in": "path", "required": true, "schema": {"type": "string"}},
          "jobSlug": {"name": "jobSlug", "in": "path", "required": true, "schema": {"type": "string"}}
        }
      },
      "paths": {
        "/healthz": {"get": {"summary": "Process is alive", "responses": {"200": {"description": "ok"}}}},
        "/readyz": {"get": {"summary": "Database reachable and schema current", "responses": {"200": {"description": "ready"}, "503": {"description": "not ready"}}}},
        "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "text exposition format", "content": {"text/plain": {}}}}}},
        "/api/v1/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1"}}}},
        "/api/v1/whoami": {
          "get": {
            "summary": "The environment, project and organization of the API key",
            "security": [{"apiKey": []}],
            "responses": {"200": {"description": "ok"}, "401": {"$ref": "#/components/responses/Unauthorized"}}
          }
        },
        "/api/v1/dashboard/links": {
          "post": {
            "summary": "A one-time dashboard sign-in link for the key's environment (kongflow dashboard-link): valid 15 minutes, once",
            "security": [{"apiKey": []}],
            "responses": {
              "200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object", "required": ["path", "expiresAt"],
                "properties": {"path": {"type": "string", "description": "/login/link?token=…, relative to the server"}, "expiresAt": {"type": "string", "format": "date-time"}}}}}},
              "401": {"$ref": "#/components/responses/Unauthorized"}
            }
          }
        },
        "/api/v1/endpoints": {
          "get": {
            "summary": "The environment's endpoints with their latest index",
            "security": [{"apiKey": []}],
            "responses": {
              "200": {"description": "ok", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Endpoint"}}}}},
              "401": {"$ref": "#/components/responses/Unauthorized"}
            }
          },
          "post": {
            "summary": "Create or update an endpoint (CreateEndpoint): PING, then upsert and queue its indexing",
            "security": [{"apiKey": []}],
            "requestBody": {
              "required": true,
              "content": {"application/json": {"schema": {
                "type": "object", "required": ["id", "url"],
                "properties": {"id": {"type": "string", "minLength": 1, "maxLength": 100}, "url": {"type": "string", "format": "uri"}}
              }}}
            },
            "responses": {
              "200": {"description": "the endpoint, with endpointIndex", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Endpoint"}}}},
              "400": {"$ref": "#/components/responses/BadRequest"},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "413": {"$ref": "#/components/responses/TooLarge"}
            }
          }
        },
        "/api/v1/endpoints/{endpointSlug}": {
          "parameters": [{"$ref": "#/components/parameters/endpointSlug"}],
          "get": {
            "summary": "One endpoint with its latest index",
            "security": [{"apiKey": []}],
            "responses": {
              "200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Endpoint"}}}},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "404": {"$ref": "#/components/responses/NotFound"}
            }
          },
          "delete": {
            "summary": "Delete an endpoint (its index history is kept)",
            "security": [{"apiKey": []}],
            "responses": {
              "200": {"description": "the deleted endpoint", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Endpoint"}}}},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "404": {"$ref": "#/components/responses/NotFound"}
            }
          }
        },
        "/api/v1/endpoints/{endpointSlug}/index": {
          "parameters": [{"$ref": "#/components/parameters/endpointSlug"}],
          "post": {
            "summary": "Re-index (source API); answers when the index is terminal or after 30 s",
            "security": [{"apiKey": []}],
            "requestBody": {
              "required": false,
              "content": {"application/json": {"schema": {"type": "object", "properties": {"reason": {"type": "string"}, "data": {}}}}}
            },
            "responses": {
              "200": {"description": "the index, without data", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/EndpointIndex"}}}},
              "400": {"$ref": "#/components/responses/BadRequest"},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "404": {"$ref": "#/components/responses/NotFound"},
              "413": {"$ref": "#/components/responses/TooLarge"}
            }
          }
        },
        "/api/v1/endpoints/{endpointSlug}/indexes": {
          "parameters": [
            {"$ref": "#/components/parameters/endpointSlug"},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}},
            {"name": "cursor", "in": "query", "schema": {"type": "string", "format": "uuid"}, "description": "nextCursor of the previous page"}
          ],
          "get": {
            "summary": "Index history, newest first",
            "security": [{"apiKey": []}],
            "responses": {
              "200": {"description": "a page", "content": {"application/json": {"schema": {
                "type": "object", "required": ["indexes", "nextCursor"],
                "properties": {"indexes": {"type": "array", "items": {"$ref": "#/components/schemas/EndpointIndex"}}, "nextCursor": {"type": ["string", "null"]}}
              }}}},
              "400": {"$ref": "#/components/responses/BadRequest"},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "404": {"$ref": "#/components/responses/NotFound"}
            }
          }
        },
        "/api/v1/endpointindex/{indexId}": {
          "parameters": [{"name": "indexId", "in": "path", "required": true, "schema": {"type": "string"}}],
          "get": {
            "summary": "An index's status (what the trigger.dev CLI polls)",
            "security": [{"apiKey": []}],
            "responses": {
              "200": {"description": "{status, updatedAt} plus stats on SUCCESS or error on FAILURE", "content": {"application/json": {"schema": {
                "type": "object", "required": ["status", "updatedAt"],
                "properties": {
                  "status": {"$ref": "#/components/schemas/IndexStatus"},
                  "stats": {"$ref": "#/components/schemas/IndexStats"},
                  "error": {"$ref": "#/components/schemas/IndexError"},
                  "updatedAt": {"type": "string", "format": "date-time"}
                }
              }}}},
              "401": {"$ref": "#/components/responses/Unauthorized"},
              "404": {"$ref": "#/components/responses/NotFound"}
            }
          }
        },
        "/api/v1/jobs": {
          "get": {
            "summary": "The environment's registered jobs with their latest version, status, trigger and endpoint",
            "security": [{"apiKey": []}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object"}}}}}, "401": {"$ref": "#/components/responses/Unauthorized"}}
          }
        },
        "/api/v1/jobs/{jobSlug}": {
          "parameters": [{"name": "jobSlug", "in": "path", "required": true, "schema": {"type": "string"}}],
          "get": {
            "summary": "One job: versions, latest alias, dispatcher, schedule and integrations in this environment",
            "security": [{"apiKey": []}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}, "401": {"$ref": "#/components/responses/Unauthorized"}, "404": {"$ref": "#/components/responses/NotFound"}}
          }
        },
        "/api/v1/events": {
          "post": {
            "summary": "Send an event (client.sendEvent): stored, then delivered to matching jobs at deliverAt; the same id again returns the first event",
            "security": [{"apiKey": []}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SendEventBody"}}}},
            "responses": {
              "200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApiEventLog"}}}},
              "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"}, "413": {"$ref": "#/components/responses/TooLarge"}
            }
          }
        },
        "/api/v1/runs/{runId}/tasks": {
          "parameters": [{"$ref": "#/components/parameters/runId"}, {"name": "Idempotency-Key", "in": "header", "required": true, "schema": {"type": "string"}},
                         {"name": "Trigger-Version", "in": "header", "schema": {"type": "string"}}, {"name": "X-Cached-Tasks-Cursor", "in": "header", "schema": {"type": "string"}}],
          "post": {
            "summary": "io.runTask: create the run's task for this idempotency key, or return the stored one whatever its status",
            "security": [{"apiKey": []}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RunTaskBody"}}}},
            "responses": {
              "200": {"description": "ok: a ServerTask, or with Trigger-Version 2023-09-29 a VersionedServerTask", "content": {"application/json": {"schema": {
                "oneOf": [{"$ref": "#/components/schemas/ServerTask"}, {"$ref": "#/components/schemas/VersionedServerTask"}]}}}},
              "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
              "404": {"$ref": "#/components/responses/NotFound"}, "413": {"$ref": "#/components/responses/TooLarge"}
            }
          }
        },
        "/api/v1/runs/{runId}/tasks/{taskId}/complete": {
          "parameters": [{"$ref": "#/components/parameters/runId"}, {"$ref": "#/components/parameters/taskId"}],
          "post": {
            "summary": "The task's callback returned: COMPLETED with its output (an output over the limit fails the task instead)",
            "security": [{"apiKey": []}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "properties": {"output": {}}}}}},
            "responses": {
              "200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ServerTask"}}}},
              "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"}, "404": {"$ref": "#/components/responses/NotFound"}
            }
          }
        },
        "/api/v1/runs/{runId}/tasks/{taskId}/fail": {
          "parameters": [{"$ref": "#/components/parameters/runId"}, {"$ref": "#/components/parameters/taskId"}],
          "post": {
            "summary": "The task's callback threw: ERRORED with the error",
            "security": [{"apiKey": []}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["error"], "properties": {
              "error": {"type": "object", "required": ["message"], "properties": {"message": {"type": "string"}, "name": {"type": "string"}, "stack": {"type": "string"}}}}}}}},
            "responses": {
              "200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ServerTask"}}}},
              "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"}, "404": {"$ref": "#/components/responses/NotFound"}
            }
          }
        },
        "/api/v1/runs/{runId}/cancel": {
          "parameters": [{"$ref": "#/components/parameters/runId"}],
          "post": {
            "summary": "Cancel a run that has not finished",
            "security": [{"apiKey": []}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Run"}}}},
                          "401": {"$ref": "#/components/responses/Unauthorized"}, "404": {"$ref": "#/components/responses/NotFound"}}
          }
        },
        "/api/v1/runs": {
          "get": {
            "summary": "The environment's runs, newest first",
            "security": [{"apiKey": []}],
            "parameters": [
              {"name": "job", "in": "query", "schema": {"type": "string"}}, {"name": "status", "in": "query", "schema": {"$ref": "#/components/schemas/RunStatus"}},
              {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}}, {"name": "cursor", "in": "query", "schema": {"type": "string"}}
            ],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RunPage"}}}},
                          "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"}, "404": {"$ref": "#/components/responses/NotFound"}}
          }
        },
        "/api/v1/jobs/{jobSlug}/runs": {
          "parameters": [{"$ref": "#/components/parameters/jobSlug"}],
          "get": {
            "summary": "A job's runs, newest first",
            "security": [{"apiKey": []}],
            "parameters": [
              {"name": "status", "in": "query", "schema": {"$ref": "#/components/schemas/RunStatus"}}, {"name": "take", "in": "query", "schema": {"type": "integer"}},
              {"name": "cursor", "in": "query", "schema": {"type": "string"}}
            ],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RunPage"}}}},
                          "401": {"$ref": "#/components/responses/Unauthorized"}, "404": {"$ref": "#/components/responses/NotFound"}}
          }
        },
        "/api/v1/jobs/{jobSlug}/invoke": {
          "parameters": [{"$ref": "#/components/parameters/jobSlug"}, {"name": "Idempotency-Key", "in": "header", "required": false, "schema": {"type": "string"}}],
          "post": {
            "summary": "Run the job's latest version directly with a payload; an Idempotency-Key seen before returns that run",
            "security": [{"apiKey": []}],
            "requestBody": {"required": false, "content": {"application/json": {"schema": {"type": "object", "properties": {"payload": {}, "context": {}}}}}},
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Run"}}}},
                          "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"}, "404": {"$ref": "#/components/responses/NotFound"}}
          }
        },
        "/api/v1/{client}/schedules/{id}/registrations": {
          "parameters": [
            {"name": "client", "in": "path", "required": true, "schema": {"type": "string"}, "description": "the endpoint's slug"},
            {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}, "description": "the dynamic schedule's id"}
          ],
          "post": {
            "summary": "Register (or re-register, reactivating) a schedule on a dynamic schedule (io.registerInterval / io.registerCron)",
            "security": [{"apiKey": []}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["id", "type", "options"], "properties": {
              "id": {"type": "string"}, "type": {"type": "string", "enum": ["interval", "cron"]},
              "options": {"type": "object", "properties": {"seconds": {"type": "integer", "minimum": 20, "maximum": 2592000}, "cron": {"type": "string"}}},
              "metadata": {}, "accountId": {"type": "string"}}}}}},
            "responses": {
              "200": {"description": "{id, schedule, metadata, active}", "content": {"application/json": {"schema": {"type": "object"}}}},
              "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"}, "404": {"$ref": "#/components/responses/NotFound"}
            }
          }
        },
        "/api/v1/{client}/schedules/{id}/registrations/{key}": {
          "parameters": [
            {"name": "client", "in": "path", "required": true, "schema": {"type": "string"}},
            {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
            {"name": "key", "in": "path", "required": true, "schema": {"type": "string"}}
          ],
          "delete": {
            "summary": "Unregister a schedule (io.unregisterInterval / io.unregisterCron): {ok: true}",
            "security": [{"apiKey": []}],
            "responses": {"200": {"description": "{ok: true}"}, "401": {"$ref": "#/components/responses/Unauthorized"}, "404": {"$ref": "#/components/responses/NotFound"}}
          }
        },
        "/api/v1/schedules": {
          "get": {
            "summary": "The environment's schedules: key, job or dynamic schedule, schedule, next and last run, active",
            "security": [{"apiKey": []}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object"}}}}},
                          "401": {"$ref": "#/components/responses/Unauthorized"}}
          }
        },
        "/api/v1/integrations": {
          "get": {
            "summary": "The environment's integrations: id, service, auth type, scopes; never their tokens",
            "security": [{"apiKey": []}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object", "properties": {
                            "integrations": {"type": "array", "items": {"$ref": "#/components/schemas/Integration"}}}}}}},
                          "401": {"$ref": "#/components/responses/Unauthorized"}}
          },
          "post": {
            "summary": "Connect a HOSTED integration: its credentials are sealed with the server's key; again replaces them",
            "security": [{"apiKey": []}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["id", "service", "auth"], "properties": {
              "id": {"type": "string"}, "service": {"type": "string"},
              "auth": {"type": "object", "required": ["type", "accessToken"], "properties": {
                "type": {"type": "string", "enum": ["oauth2", "apiKey"]}, "accessToken": {"type": "string"},
                "scopes": {"type": "array", "items": {"type": "string"}}, "additionalFields": {"type": "object", "additionalProperties": {"type": "string"}}}}}}}}},
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Integration"}}}},
                          "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"}}
          }
        },
        "/api/v1/integrations/{id}": {
          "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
          "delete": {
            "summary": "Remove the environment's credentials for an integration",
            "security": [{"apiKey": []}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}},
                          "401": {"$ref": "#/components/responses/Unauthorized"}, "404": {"$ref": "#/components/responses/NotFound"}}
          }
        },
        "/api/v1/{client}/auth/{id}": {
          "parameters": [{"name": "client", "in": "path", "required": true, "schema": {"type": "string"}},
                         {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
          "get": {
            "summary": "The SDK's getAuth: the environment's credentials for an integration (404: none)",
            "security": [{"apiKey": []}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object", "required": ["type", "accessToken"], "properties": {
                            "type": {"type": "string"}, "accessToken": {"type": "string"}, "scopes": {"type": "array", "items": {"type": "string"}},
                            "additionalFields": {"type": "object"}}}}}},
                          "401": {"$ref": "#/components/responses/Unauthorized"}, "404": {"$ref": "#/components/responses/NotFound"}}
          }
        },
        "/api/v1/sources/http/{id}": {
          "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}}],
          "get": {"summary": "A webhook for an HTTP source (no API key: the SDK checks its signature); body at most 1 MiB",
            "responses": {"200": {"description": "the SDK's response to the webhook, relayed (status, body and headers)"},
                          "202": {"description": "stored and queued: the endpoint did not answer in time and gets it when it can"},
                          "404": {"$ref": "#/components/responses/NotFound"}, "413": {"$ref": "#/components/responses/TooLarge"}}},
          "post": {"summary": "A webhook for an HTTP source (no API key: the SDK checks its signature); body at most 1 MiB",
            "responses": {"200": {"description": "the SDK's response to the webhook, relayed (status, body and headers)"},
                          "202": {"description": "stored and queued: the endpoint did not answer in time and gets it when it can"},
                          "404": {"$ref": "#/components/responses/NotFound"}, "413": {"$ref": "#/components/responses/TooLarge"}}},
          "put": {"summary": "A webhook for an HTTP source (no API key: the SDK checks its signature); body at most 1 MiB",
            "responses": {"200": {"description": "the SDK's response to the webhook, relayed (status, body and headers)"},
                          "202": {"description": "stored and queued: the endpoint did not answer in time and gets it when it can"},
                          "404": {"$ref": "#/components/responses/NotFound"}, "413": {"$ref": "#/components/responses/TooLarge"}}},
          "patch": {"summary": "A webhook for an HTTP source (no API key: the SDK checks its signature); body at most 1 MiB",
            "responses": {"200": {"description": "the SDK's response to the webhook, relayed (status, body and headers)"},
                          "202": {"description": "stored and queued: the endpoint did not answer in time and gets it when it can"},
                          "404": {"$ref": "#/components/responses/NotFound"}, "413": {"$ref": "#/components/responses/TooLarge"}}},
          "delete": {"summary": "A webhook for an HTTP source (no API key: the SDK checks its signature); body at most 1 MiB",
            "responses": {"200": {"description": "the SDK's response to the webhook, relayed (status, body and headers)"},
                          "202": {"description": "stored and queued: the endpoint did not answer in time and gets it when it can"},
                          "404": {"$ref": "#/components/responses/NotFound"}, "413": {"$ref": "#/components/responses/TooLarge"}}}
        },
        "/api/v1/{client}/sources/{key}": {
          "parameters": [{"name": "client", "in": "path", "required": true, "schema": {"type": "string"}},
                         {"name": "key", "in": "path", "required": true, "schema": {"type": "string"}}],
          "put": {
            "summary": "io.updateSource: the source's webhook is registered; it becomes active with these events",
            "security": [{"apiKey": []}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["registeredEvents"], "properties": {
              "registeredEvents": {"type": "array", "items": {"type": "string"}}, "secret": {"type": "string"}, "data": {}}}}}},
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object", "properties": {
                            "id": {"type": "string"}, "key": {"type": "string"}}}}}},
                          "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                          "404": {"$ref": "#/components/responses/NotFound"}}
          }
        },
        "/api/v1/{client}/triggers/{id}/registrations/{key}": {
          "parameters": [{"name": "client", "in": "path", "required": true, "schema": {"type": "string"}},
                         {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
                         {"name": "key", "in": "path", "required": true, "schema": {"type": "string"}}],
          "put": {
            "summary": "io.registerTrigger: a registration of the endpoint's dynamic trigger, with its webhook source and dispatcher; answers RegisterSourceEvent",
            "security": [{"apiKey": []}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["rule", "source"], "properties": {
              "rule": {"type": "object"}, "source": {"type": "object"}, "accountId": {"type": "string"}}}}}},
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}},
                          "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                          "404": {"$ref": "#/components/responses/NotFound"}}
          }
        },
        "/api/v1/{client}/triggers/{id}/registrations": {
          "parameters": [{"name": "client", "in": "path", "required": true, "schema": {"type": "string"}},
                         {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
          "post": {
            "summary": "InitializeTrigger: the endpoint (INITIALIZE_TRIGGER) says what registration `id` with `params` needs; it is registered and its job runs",
            "security": [{"apiKey": []}],
            "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["id"], "properties": {
              "id": {"type": "string"}, "params": {}, "accountId": {"type": "string"}, "metadata": {}}}}}},
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}},
                          "400": {"$ref": "#/components/responses/BadRequest"}, "401": {"$ref": "#/components/responses/Unauthorized"},
                          "404": {"$ref": "#/components/responses/NotFound"}}
          }
        },
        "/api/v2/runs/{runId}": {
          "parameters": [{"$ref": "#/components/parameters/runId"}],
          "get": {
            "summary": "A run with its tasks as a tree (later v2's getRun)",
            "security": [{"apiKey": []}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Run"}}}},
                          "401": {"$ref": "#/components/responses/Unauthorized"}, "404": {"$ref": "#/components/responses/NotFound"}}
          }
        },
        "/api/v2/events/{eventId}": {
          "parameters": [{"name": "eventId", "in": "path", "required": true, "schema": {"type": "string"}}],
          "get": {
            "summary": "An event with its runs (later v2's getEvent)",
            "security": [{"apiKey": []}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Event"}}}},
                          "401": {"$ref": "#/components/responses/Unauthorized"}, "404": {"$ref": "#/components/responses/NotFound"}}
          }
        },
        "/api/v1/endpoints/{environmentId}/{endpointSlug}/index/{indexHookIdentifier}": {
          "parameters": [
            {"name": "environmentId", "in": "path", "required": true, "schema": {"type": "string"}},
            {"$ref": "#/components/parameters/endpointSlug"},
            {"name": "indexHookIdentifier", "in": "path", "required": true, "schema": {"type": "string"}}
          ],
          "get": {
            "summary": "Deploy hook (no API key; the identifier is the secret): index after a delay, source HOOK",
            "responses": {"200": {"description": "{\"ok\": true}"}, "404": {"$ref": "#/components/responses/NotFound"}}
          },
          "post": {
            "summary": "Deploy hook with a body (e.g. a Vercel deployment webhook, whose deployment.succeeded becomes the reason)",
            "requestBody": {"required": false, "content": {"application/json": {"schema": {}}}},
            "responses": {"200": {"description": "{\"ok\": true}"}, "404": {"$ref": "#/components/responses/NotFound"}, "413": {"$ref": "#/components/responses/TooLarge"}}
          }
        }
      }
    }
    """#
}
