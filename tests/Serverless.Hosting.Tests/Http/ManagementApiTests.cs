using System.Net;
using System.Text.Json;
using Microsoft.DurableTask.Client;
using static Serverless.Hosting.Tests.Http.ApiHost;

namespace Serverless.Hosting.Tests.Http;

/// <summary>Durable Functions' HTTP management API over the real runtime: the old engine's API tests, ported, plus
/// restart, connection= in links, JSON 404s and 400 for unregistered orchestrators.</summary>
[Collection("http-azurite")]
public sealed class ManagementApiTests(SharedAzurite azurite) : IAsyncLifetime
{
    private ApiHost _host = null!;

    private string Hub => _host.Hub;

    public async Task InitializeAsync() => _host = await ApiHost.StartAsync(azurite);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private HttpClient Http => _host.Http;

    // ---------------- start ----------------

    [Fact]
    public async Task Start_WithInput_Returns202WithLinksLocationAndRetryAfter()
    {
        using var response = await _host.PostJsonAsync($"{Prefix}/orchestrators/Hello", """{"name":"Tokyo"}""");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var body = await JsonAsync(response);
        var id = body.GetProperty("id").GetString()!;
        var instanceUrl = $"{_host.BaseAddress.ToString().TrimEnd('/')}{Prefix}/instances/{id}";
        var status = body.GetProperty("statusQueryGetUri").GetString()!;
        var q = $"taskHub={Hub}&connection={Connection}";
        Assert.Equal($"{instanceUrl}?{q}", status);
        Assert.Equal($"{instanceUrl}/raiseEvent/{{eventName}}?{q}", body.GetProperty("sendEventPostUri").GetString());
        Assert.Equal($"{instanceUrl}/terminate?reason={{text}}&{q}", body.GetProperty("terminatePostUri").GetString());
        Assert.Equal($"{instanceUrl}/suspend?reason={{text}}&{q}", body.GetProperty("suspendPostUri").GetString());
        Assert.Equal($"{instanceUrl}/resume?reason={{text}}&{q}", body.GetProperty("resumePostUri").GetString());
        Assert.Equal($"{instanceUrl}?{q}", body.GetProperty("purgeHistoryDeleteUri").GetString());
        Assert.Equal($"{instanceUrl}/restart?restartWithNewInstanceId={{restartWithNewInstanceId}}&{q}", body.GetProperty("restartPostUri").GetString());
        Assert.Equal(status, response.Headers.Location?.ToString());
        Assert.Equal(10, RetryAfterSeconds(response));

        await _host.WaitDoneAsync(id);
        using var done = await Http.GetAsync(status);
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        var json = await JsonAsync(done);
        Assert.Equal("Hello", json.GetProperty("name").GetString());
        Assert.Equal(id, json.GetProperty("instanceId").GetString());
        Assert.Equal("Completed", json.GetProperty("runtimeStatus").GetString());
        // Stored JSON is embedded as JSON, not as a string holding JSON.
        Assert.Equal(JsonValueKind.Object, json.GetProperty("input").ValueKind);
        Assert.Equal("Tokyo", json.GetProperty("input").GetProperty("name").GetString());
        Assert.Equal("Hello Tokyo!", json.GetProperty("output").GetString());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("customStatus").ValueKind);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", json.GetProperty("createdTime").GetString());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", json.GetProperty("lastUpdatedTime").GetString());
        Assert.False(json.TryGetProperty("historyEvents", out _));
        Assert.Null(done.Headers.Location);
        Assert.Null(done.Headers.RetryAfter);
    }

    [Fact]
    public async Task Start_WithInstanceId_UsesIdAndRejectsDuplicateWhileRunningWith409()
    {
        var id = await _host.StartAsync("Approval", instanceId: "my-run-1");
        Assert.Equal("my-run-1", id);

        using var again = await _host.PostJsonAsync($"{Prefix}/orchestrators/Approval/my-run-1", null);

        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Contains("my-run-1", (await JsonAsync(again)).GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_InvalidJsonBody_Returns400WithError()
    {
        using var response = await _host.PostJsonAsync($"{Prefix}/orchestrators/Hello", "{\"name\": ");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("not valid JSON", (await JsonAsync(response)).GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_GetMethod_Returns405()
    {
        using var response = await Http.GetAsync($"{Prefix}/orchestrators/Hello");

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
    }

    // ---------------- status ----------------

    [Fact]
    public async Task GetStatus_Running_Returns202WithLocationRetryAfterAndCustomStatus()
    {
        var id = await _host.StartAsync("Approval");
        await _host.WaitAsync(id, m => m.SerializedCustomStatus != null);
        var url = $"{Prefix}/instances/{id}?taskHub={Hub}";

        using var response = await Http.GetAsync(url);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(new Uri(_host.BaseAddress, url), response.Headers.Location);
        Assert.Equal(5, RetryAfterSeconds(response));
        var json = await JsonAsync(response);
        Assert.Equal("Running", json.GetProperty("runtimeStatus").GetString());
        Assert.Equal("waiting", json.GetProperty("customStatus").GetProperty("stage").GetString());
        Assert.Equal(JsonValueKind.Null, json.GetProperty("output").ValueKind);
    }

    [Fact]
    public async Task GetStatus_UnknownInstance_Returns404()
    {
        using var response = await Http.GetAsync($"{Prefix}/instances/no-such-instance");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("no-such-instance", (await JsonAsync(response)).GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetStatus_ShowHistory_ReturnsDurableFunctionsEventsWithOutputsOnlyWhenAsked()
    {
        var id = await _host.StartAsync("Hello", """{"name":"Seattle"}""");
        await _host.WaitDoneAsync(id);

        using var plain = await Http.GetAsync($"{Prefix}/instances/{id}?showHistory=true");
        using var withOutput = await Http.GetAsync($"{Prefix}/instances/{id}?showHistory=true&showHistoryOutput=true");

        Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
        var events = (await JsonAsync(plain)).GetProperty("historyEvents").EnumerateArray().ToList();
        var types = events.Select(e => e.GetProperty("EventType").GetString()).ToList();
        Assert.Equal(new[] { "ExecutionStarted", "TaskCompleted", "ExecutionCompleted" }, types);
        Assert.Equal("Hello", events[0].GetProperty("FunctionName").GetString());
        Assert.Equal("Seattle", events[0].GetProperty("Input").GetProperty("name").GetString());
        Assert.Equal("Say", events[1].GetProperty("FunctionName").GetString());
        Assert.True(events[1].TryGetProperty("ScheduledTime", out _));
        Assert.True(events[1].TryGetProperty("Timestamp", out _));
        Assert.False(events[1].TryGetProperty("Result", out _));
        Assert.Equal("Completed", events[2].GetProperty("OrchestrationStatus").GetString());
        Assert.False(events[2].TryGetProperty("Result", out _));

        var full = (await JsonAsync(withOutput)).GetProperty("historyEvents").EnumerateArray().ToList();
        Assert.Equal("Hello Seattle!", full[1].GetProperty("Result").GetString());
        Assert.Equal("Hello Seattle!", full[2].GetProperty("Result").GetString());
    }

    [Fact]
    public async Task GetStatus_ShowInputFalse_OmitsInput()
    {
        var id = await _host.StartAsync("Hello", """{"name":"Oslo"}""");
        await _host.WaitDoneAsync(id);

        using var response = await Http.GetAsync($"{Prefix}/instances/{id}?showInput=false&showHistory=true");

        var json = await JsonAsync(response);
        Assert.Equal(JsonValueKind.Null, json.GetProperty("input").ValueKind);
        Assert.False(json.GetProperty("historyEvents")[0].TryGetProperty("Input", out _));
        Assert.Equal("Hello Oslo!", json.GetProperty("output").GetString());
    }

    [Fact]
    public async Task GetStatus_FailedInstance_Returns200Or500WhenAsked()
    {
        var id = await _host.StartAsync("Fail");
        await _host.WaitDoneAsync(id);

        using var ok = await Http.GetAsync($"{Prefix}/instances/{id}");
        using var error = await Http.GetAsync($"{Prefix}/instances/{id}?returnInternalServerErrorOnFailure=true");

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var json = await JsonAsync(ok);
        Assert.Equal("Failed", json.GetProperty("runtimeStatus").GetString());
        Assert.Contains("boom", json.GetProperty("output").GetString(), StringComparison.Ordinal);
        Assert.Equal("boom", json.GetProperty("failureDetails").GetProperty("errorMessage").GetString());
        Assert.Equal(HttpStatusCode.InternalServerError, error.StatusCode);
        Assert.Equal("Failed", (await JsonAsync(error)).GetProperty("runtimeStatus").GetString());
    }

    [Theory]
    [InlineData("showHistory=maybe", "showHistory")]
    [InlineData("showInput=1", "showInput")]
    [InlineData("showHistoryOutput=yes", "showHistoryOutput")]
    public async Task GetStatus_BadBooleanQuery_Returns400NamingParameter(string query, string parameter)
    {
        var id = await _host.StartAsync("Approval");

        using var response = await Http.GetAsync($"{Prefix}/instances/{id}?{query}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(parameter, (await JsonAsync(response)).GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetStatus_OtherTaskHub_Returns400()
    {
        var id = await _host.StartAsync("Approval");

        using var response = await Http.GetAsync($"{Prefix}/instances/{id}?taskHub=OtherHub");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("OtherHub", (await JsonAsync(response)).GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    // ---------------- raise event ----------------

    [Fact]
    public async Task RaiseEvent_RunningInstance_Returns202AndDeliversPayload()
    {
        var id = await _host.StartAsync("Approval");

        using var response = await _host.PostJsonAsync($"{Prefix}/instances/{id}/raiseEvent/Approve", """{"by":"alice"}""");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        await _host.WaitDoneAsync(id);
        using var status = await Http.GetAsync($"{Prefix}/instances/{id}");
        var output = (await JsonAsync(status)).GetProperty("output");
        Assert.Equal("alice", output.GetProperty("approved").GetProperty("by").GetString());
    }

    [Fact]
    public async Task RaiseEvent_UnknownInstance_Returns404()
    {
        using var response = await _host.PostJsonAsync($"{Prefix}/instances/nobody/raiseEvent/Approve", "true");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("nobody", (await JsonAsync(response)).GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RaiseEvent_FinishedInstance_Returns410()
    {
        var id = await _host.StartAsync("Hello", """{"name":"x"}""");
        await _host.WaitDoneAsync(id);

        using var response = await _host.PostJsonAsync($"{Prefix}/instances/{id}/raiseEvent/Approve", "true");

        Assert.Equal(HttpStatusCode.Gone, response.StatusCode);
    }

    [Fact]
    public async Task RaiseEvent_InvalidJson_Returns400AndLeavesInstanceWaiting()
    {
        var id = await _host.StartAsync("Approval");

        using var response = await _host.PostJsonAsync($"{Prefix}/instances/{id}/raiseEvent/Approve", "{oops");
        using var notJson = await Http.PostAsync($"{Prefix}/instances/{id}/raiseEvent/Approve", new StringContent("yes", System.Text.Encoding.UTF8, "text/plain"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, notJson.StatusCode);
        Assert.Contains("application/json", (await JsonAsync(notJson)).GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(OrchestrationRuntimeStatus.Running, (await _host.WaitAsync(id, m => m.RuntimeStatus != OrchestrationRuntimeStatus.Pending)).RuntimeStatus);
    }

    // ---------------- terminate, suspend, resume ----------------

    [Fact]
    public async Task Terminate_RunningInstance_Returns202ThenFinishedReturns410()
    {
        var id = await _host.StartAsync("Approval");

        using var response = await Http.PostAsync($"{Prefix}/instances/{id}/terminate?reason=no%20longer%20needed", null);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var done = await _host.WaitDoneAsync(id);
        Assert.Equal(OrchestrationRuntimeStatus.Terminated, done.RuntimeStatus);
        using var status = await Http.GetAsync($"{Prefix}/instances/{id}");
        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        var json = await JsonAsync(status);
        Assert.Equal("Terminated", json.GetProperty("runtimeStatus").GetString());
        Assert.Equal("no longer needed", json.GetProperty("output").GetString());
        using var again = await Http.PostAsync($"{Prefix}/instances/{id}/terminate", null);
        Assert.Equal(HttpStatusCode.Gone, again.StatusCode);
    }

    [Theory]
    [InlineData("terminate")]
    [InlineData("suspend")]
    [InlineData("resume")]
    public async Task Operation_UnknownInstance_Returns404(string operation)
    {
        using var response = await Http.PostAsync($"{Prefix}/instances/nobody/{operation}", null);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("nobody", (await JsonAsync(response)).GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("suspend")]
    [InlineData("resume")]
    public async Task Operation_FinishedInstance_Returns410(string operation)
    {
        var id = await _host.StartAsync("Hello", """{"name":"x"}""");
        await _host.WaitDoneAsync(id);

        using var response = await Http.PostAsync($"{Prefix}/instances/{id}/{operation}?reason=late", null);

        Assert.Equal(HttpStatusCode.Gone, response.StatusCode);
    }

    [Fact]
    public async Task SuspendResume_RunningInstance_Returns202AndHoldsEventsUntilResumed()
    {
        var id = await _host.StartAsync("Approval");
        await _host.WaitAsync(id, m => m.RuntimeStatus == OrchestrationRuntimeStatus.Running);

        using var suspend = await Http.PostAsync($"{Prefix}/instances/{id}/suspend?reason=maintenance", null);
        Assert.Equal(HttpStatusCode.Accepted, suspend.StatusCode);
        await _host.WaitAsync(id, m => m.RuntimeStatus == OrchestrationRuntimeStatus.Suspended);
        using var suspendedStatus = await Http.GetAsync($"{Prefix}/instances/{id}?showHistory=true");
        Assert.Equal(HttpStatusCode.Accepted, suspendedStatus.StatusCode);
        var history = (await JsonAsync(suspendedStatus)).GetProperty("historyEvents").EnumerateArray().ToList();
        Assert.Contains(history, e => e.GetProperty("EventType").GetString() == "ExecutionSuspended" && e.GetProperty("Reason").GetString() == "maintenance");
        using var raise = await _host.PostJsonAsync($"{Prefix}/instances/{id}/raiseEvent/Approve", "\"ok\"");
        Assert.Equal(HttpStatusCode.Accepted, raise.StatusCode);
        await Task.Delay(200);
        Assert.Equal(OrchestrationRuntimeStatus.Suspended, (await _host.Client.GetInstanceAsync(id))!.RuntimeStatus);

        using var resume = await Http.PostAsync($"{Prefix}/instances/{id}/resume", null);

        Assert.Equal(HttpStatusCode.Accepted, resume.StatusCode);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, (await _host.WaitDoneAsync(id)).RuntimeStatus);
    }

    // ---------------- purge ----------------

    [Fact]
    public async Task Purge_FinishedInstance_Returns200WithCountThenInstanceIsGone()
    {
        var id = await _host.StartAsync("Hello", """{"name":"x"}""");
        await _host.WaitDoneAsync(id);

        using var response = await Http.DeleteAsync($"{Prefix}/instances/{id}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, (await JsonAsync(response)).GetProperty("instancesDeleted").GetInt32());
        using var status = await Http.GetAsync($"{Prefix}/instances/{id}");
        Assert.Equal(HttpStatusCode.NotFound, status.StatusCode);
        using var again = await Http.DeleteAsync($"{Prefix}/instances/{id}");
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        Assert.True((await JsonAsync(again)).TryGetProperty("error", out _));
    }

    [Fact]
    public async Task Purge_RunningInstance_Returns412AndKeepsIt()
    {
        var id = await _host.StartAsync("Approval");

        using var response = await Http.DeleteAsync($"{Prefix}/instances/{id}");

        Assert.Equal(HttpStatusCode.PreconditionFailed, response.StatusCode);
        Assert.NotNull(await _host.Client.GetInstanceAsync(id));
    }

    [Fact]
    public async Task PurgeByFilter_MatchingFinishedInstances_Returns200ThenNothingLeftReturns404()
    {
        var from = DateTime.UtcNow.AddMinutes(-1).ToString("o");
        var done1 = await _host.StartAsync("Hello", """{"name":"a"}""");
        var done2 = await _host.StartAsync("Fail");
        var running = await _host.StartAsync("Approval");
        await _host.WaitDoneAsync(done1);
        await _host.WaitDoneAsync(done2);

        using var onlyCompleted = await Http.DeleteAsync($"{Prefix}/instances?createdTimeFrom={Uri.EscapeDataString(from)}&runtimeStatus=Completed");
        using var rest = await Http.DeleteAsync($"{Prefix}/instances?createdTimeFrom={Uri.EscapeDataString(from)}");
        using var none = await Http.DeleteAsync($"{Prefix}/instances?createdTimeFrom={Uri.EscapeDataString(from)}");

        Assert.Equal(HttpStatusCode.OK, onlyCompleted.StatusCode);
        Assert.Equal(1, (await JsonAsync(onlyCompleted)).GetProperty("instancesDeleted").GetInt32());
        Assert.Null(await _host.Client.GetInstanceAsync(done1));
        Assert.Equal(HttpStatusCode.OK, rest.StatusCode);
        Assert.Equal(1, (await JsonAsync(rest)).GetProperty("instancesDeleted").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);
        Assert.True((await JsonAsync(none)).TryGetProperty("error", out _));
        Assert.NotNull(await _host.Client.GetInstanceAsync(running));
    }

    [Theory]
    [InlineData("", "createdTimeFrom")]
    [InlineData("createdTimeFrom=yesterday", "createdTimeFrom")]
    [InlineData("createdTimeFrom=2020-01-01T00:00:00Z&createdTimeTo=2020-13-45", "createdTimeTo")]
    [InlineData("createdTimeFrom=2020-01-01T00:00:00Z&runtimeStatus=Done", "runtimeStatus")]
    public async Task PurgeByFilter_BadOrMissingFilter_Returns400(string query, string parameter)
    {
        using var response = await Http.DeleteAsync($"{Prefix}/instances?{query}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(parameter, (await JsonAsync(response)).GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    // ---------------- query ----------------

    [Fact]
    public async Task Query_WithTop_PagesThroughContinuationTokenHeader()
    {
        for (var i = 0; i < 5; i++) await _host.StartAsync("Approval", instanceId: $"page-{i}");
        await _host.StartAsync("Approval", instanceId: "other-1");
        var seen = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"{Prefix}/instances?instanceIdPrefix=page-&top=2");
            if (token != null) request.Headers.Add("x-ms-continuation-token", token);
            using var response = await Http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var items = (await JsonAsync(response)).EnumerateArray().ToList();
            Assert.True(items.Count <= 2);
            seen.AddRange(items.Select(e => e.GetProperty("instanceId").GetString()!));
            token = response.Headers.TryGetValues("x-ms-continuation-token", out var values) ? values.Single() : null;
            pages++;
        }
        while (token != null && pages < 10);

        Assert.Equal(3, pages);
        Assert.Equal(new[] { "page-0", "page-1", "page-2", "page-3", "page-4" }, seen);
    }

    [Fact]
    public async Task Query_RuntimeStatusAndTimeFilters_ReturnOnlyMatchingInstances()
    {
        var completed = await _host.StartAsync("Hello", """{"name":"q"}""");
        var failed = await _host.StartAsync("Fail");
        var running = await _host.StartAsync("Approval");
        await _host.WaitDoneAsync(completed);
        await _host.WaitDoneAsync(failed);
        await _host.WaitAsync(running, m => m.RuntimeStatus == OrchestrationRuntimeStatus.Running);

        async Task<List<string>> Ids(string query)
        {
            using var response = await Http.GetAsync($"{Prefix}/instances?{query}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (await JsonAsync(response)).EnumerateArray().Select(e => e.GetProperty("instanceId").GetString()!).Order().ToList();
        }

        Assert.Equal(new[] { completed, failed }.Order().ToList(), await Ids("runtimeStatus=Completed,Failed"));
        Assert.Equal(new[] { running }, await Ids("runtimeStatus=running"));
        Assert.Equal(3, (await Ids("")).Count);
        Assert.Empty(await Ids($"createdTimeFrom={Uri.EscapeDataString(DateTime.UtcNow.AddHours(1).ToString("o"))}"));
        Assert.Empty(await Ids("createdTimeTo=2000-01-01T00:00:00Z"));
        Assert.Equal(3, (await Ids("createdTimeFrom=2000-01-01T00:00:00Z")).Count);
    }

    [Fact]
    public async Task Query_ShowInputFalse_OmitsInputsButKeepsOutputs()
    {
        var id = await _host.StartAsync("Hello", """{"name":"Rome"}""");
        await _host.WaitDoneAsync(id);

        using var shown = await Http.GetAsync($"{Prefix}/instances");
        using var hidden = await Http.GetAsync($"{Prefix}/instances?showInput=false");

        var withInput = (await JsonAsync(shown)).EnumerateArray().Single();
        Assert.Equal("Rome", withInput.GetProperty("input").GetProperty("name").GetString());
        Assert.Equal("Hello Rome!", withInput.GetProperty("output").GetString());
        var withoutInput = (await JsonAsync(hidden)).EnumerateArray().Single();
        Assert.Equal(JsonValueKind.Null, withoutInput.GetProperty("input").ValueKind);
        Assert.Equal("Hello Rome!", withoutInput.GetProperty("output").GetString());
    }

    [Theory]
    [InlineData("createdTimeFrom=not-a-date", "createdTimeFrom")]
    [InlineData("createdTimeTo=2024-02-30", "createdTimeTo")]
    [InlineData("runtimeStatus=Completed,Sleeping", "runtimeStatus")]
    [InlineData("runtimeStatus=1", "runtimeStatus")]
    [InlineData("top=0", "top")]
    [InlineData("top=ten", "top")]
    [InlineData("showInput=no", "showInput")]
    public async Task Query_BadQueryValue_Returns400NamingParameter(string query, string parameter)
    {
        using var response = await Http.GetAsync($"{Prefix}/instances?{query}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(parameter, (await JsonAsync(response)).GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    // ---------------- added against Durable Functions (issue 11 item 4) ----------------

    [Fact]
    public async Task Start_UnregisteredOrchestrator_Returns400AndCreatesNothing()
    {
        using var response = await _host.PostJsonAsync($"{Prefix}/orchestrators/NoSuchOrchestrator/ghost-1", "{}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("NoSuchOrchestrator", (await JsonAsync(response)).GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Null(await _host.Client.GetInstanceAsync("ghost-1"));
    }

    [Fact]
    public async Task Start_RegisteredNameInOtherCase_IsAccepted()
    {
        var id = await _host.StartAsync("hello", """{"name":"case"}""");

        Assert.Equal("Hello case!", (await _host.WaitDoneAsync(id)).ReadOutputAs<string>());
    }

    [Theory]
    [InlineData("GET", "/nothing-here")]
    [InlineData("POST", "/instances/any/rewind/extra")]
    [InlineData("GET", "/instances/any/history")]
    public async Task UnknownRoute_Returns404WithJsonError(string method, string path)
    {
        using var response = await Http.SendAsync(new HttpRequestMessage(new HttpMethod(method), Prefix + path));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains(path.Split('?')[0], (await JsonAsync(response)).GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Restart_FinishedInstance_Returns202AndRunsAgainUnderSameId()
    {
        var id = await _host.StartAsync("Hello", """{"name":"again"}""");
        var first = await _host.WaitDoneAsync(id);

        using var response = await Http.PostAsync($"{Prefix}/instances/{id}/restart", null);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var body = await JsonAsync(response);
        Assert.Equal(id, body.GetProperty("id").GetString());
        Assert.EndsWith($"/instances/{id}?taskHub={Hub}&connection={Connection}", body.GetProperty("statusQueryGetUri").GetString(), StringComparison.Ordinal);
        var second = await _host.WaitAsync(id, m => m.IsCompleted && m.CreatedAt > first.CreatedAt);
        Assert.Equal("Hello again!", second.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Restart_WithNewInstanceId_Returns202ForACopy()
    {
        var id = await _host.StartAsync("Hello", """{"name":"copy"}""");
        await _host.WaitDoneAsync(id);

        using var response = await Http.PostAsync($"{Prefix}/instances/{id}/restart?restartWithNewInstanceId=true", null);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var newId = (await JsonAsync(response)).GetProperty("id").GetString()!;
        Assert.NotEqual(id, newId);
        Assert.Equal("Hello copy!", (await _host.WaitDoneAsync(newId)).ReadOutputAs<string>());
    }

    [Fact]
    public async Task Restart_RunningOrUnknown_Returns409Or404()
    {
        var id = await _host.StartAsync("Approval");

        using var running = await Http.PostAsync($"{Prefix}/instances/{id}/restart", null);
        using var unknown = await Http.PostAsync($"{Prefix}/instances/nobody/restart", null);
        using var badFlag = await Http.PostAsync($"{Prefix}/instances/{id}/restart?restartWithNewInstanceId=perhaps", null);

        Assert.Equal(HttpStatusCode.Conflict, running.StatusCode);
        Assert.Contains(id, (await JsonAsync(running)).GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.True((await JsonAsync(unknown)).TryGetProperty("error", out _));
        Assert.Equal(HttpStatusCode.BadRequest, badFlag.StatusCode);
    }

    [Fact]
    public async Task Request_OtherConnection_Returns400()
    {
        using var response = await Http.GetAsync($"{Prefix}/instances?connection=SomeOtherStorage");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("SomeOtherStorage", (await JsonAsync(response)).GetProperty("error").GetString(), StringComparison.Ordinal);
    }
}
