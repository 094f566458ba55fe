// The cloud deployment of the ML pipelines: one resource group holding
//   - a storage account (artifacts, incoming data, the GPU trainer's job queue, the Durable Task hub) with shared keys off;
//   - the function app (Azure Functions Flex Consumption, .NET 10 isolated) with Application Insights;
//   - a Container Apps environment with a serverless GPU workload profile hosting the trainer app, which scales
//     from zero on the length of its job queue;
//   - a container registry for the trainer image;
//   - user-assigned managed identities and the role assignments they need instead of account keys.
// Deploy: see README.md in this folder.

metadata description = 'Durable ML pipelines: Flex Consumption function app, GPU trainer container app, identity-only storage.'

targetScope = 'resourceGroup'

// ---------------------------------------------------------------- parameters

@description('Prefix of every resource name: 3 to 11 lowercase letters or digits, starting with a letter. Storage and registry names append a hash of the resource group, so the same prefix works in several groups.')
@minLength(3)
@maxLength(11)
param baseName string

@description('Region of every resource. It must offer both Flex Consumption function apps and Container Apps serverless GPUs (for example swedencentral or westus3); check with `az functionapp list-flexconsumption-locations` and `az containerapp env workload-profile list-supported -l REGION`.')
param location string = resourceGroup().location

@description('Tags put on every resource.')
param tags { *: string } = {}

@description('Durable Task hub name (host.json extensions.durableTask.hubName): 3 to 45 letters or digits, starting with a letter. Two apps on one storage account need different hubs.')
@minLength(3)
@maxLength(45)
param taskHubName string = 'PipelinesHub'

@description('Blob container of pipeline artifacts (host.json extensions.pipelines.artifactStore.container).')
@minLength(3)
@maxLength(63)
param artifactsContainerName string = 'artifacts'

@description('Storage queue of GPU training jobs: the function app writes a job per GPU node, the trainer app leases them and scales on their count.')
@minLength(3)
@maxLength(63)
param trainerJobQueueName string = 'trainer-jobs'

@description('Storage redundancy of the account.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param storageSku string = 'Standard_LRS'

@description('Flex Consumption: the most instances the function app scales out to (40 to 1000).')
@minValue(40)
@maxValue(1000)
param functionMaximumInstanceCount int = 100

@description('Flex Consumption: memory of each function app instance in MB.')
@allowed([
  512
  2048
  4096
])
param functionInstanceMemoryMB int = 2048

@description('Six-field NCRONTAB schedule of retraining (UTC), the app setting RetrainSchedule that the timer trigger names as %RetrainSchedule%.')
param retrainSchedule string = '0 0 3 * * *'

@description('More app settings of the function app (name: value), for example the pipeline a timer retrains.')
param extraAppSettings { *: string } = {}

@description('Set after the function app code is published: the name of the blob-triggered function on the incoming container. Flex Consumption only runs Event Grid blob triggers, so this creates the Event Grid subscription that calls it. Empty: no subscription yet.')
param blobTriggerFunctionName string = ''

@description('Serverless GPU workload profile of the trainer app (A100: 24 vCPU, 220 GiB; T4: 8 vCPU, 56 GiB). Serverless GPUs need a quota request and exist only in some regions.')
@allowed([
  'Consumption-GPU-NC24-A100'
  'Consumption-GPU-NC8as-T4'
])
param gpuWorkloadProfileType string = 'Consumption-GPU-NC24-A100'

@description('Image of the trainer app, for example <registry>.azurecr.io/serverless-trainer:1 built from infra/docker/trainer.Dockerfile. Empty: the GPU environment is created without the trainer app (the first deployment, before the image exists).')
param trainerImage string = ''

@description('The most trainer replicas (GPUs) running at once.')
@minValue(1)
@maxValue(20)
param trainerMaxReplicas int = 1

@description('Queued jobs per trainer replica (KEDA azure-queue queueLength). 1: one GPU per job.')
@minValue(1)
param trainerJobsPerReplica int = 1

@description('Seconds a trainer replica stays after the job queue (leased jobs included) becomes empty, before the app scales to zero.')
@minValue(0)
param trainerCooldownSeconds int = 300

@description('Object id of a user or group who uploads data and reads artifacts (shared keys are off, so `az storage ... --auth-mode login` needs a data role). Empty: nobody.')
param operatorPrincipalId string = ''

@description('Kind of principal operatorPrincipalId names.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param operatorPrincipalType string = 'User'

@description('Days Log Analytics keeps logs.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

// ---------------------------------------------------------------- names and constants

var suffix = uniqueString(resourceGroup().id, baseName)
var storageAccountName = take('st${baseName}${suffix}', 24)
var registryName = take('cr${baseName}${suffix}', 50)
var functionAppName = 'func-${baseName}-${suffix}'
var incomingContainerName = 'incoming'
var deploymentContainerName = 'app-package'
var gpuProfileName = 'gpu'

// Built-in role definitions (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  acrPull: '7f951dda-4ed3-4680-a7ca-43fe172d538d'
}

// The function app's identity runs the Functions host (AzureWebJobsStorage: Blob Data Owner, as the host docs ask),
// Durable Functions' Azure Storage provider (queues, tables, blobs: Blob/Queue/Table Data Contributor), the blob trigger,
// the artifact store and the job queue writer. One account-wide set covers all of them.
var functionStorageRoles = [
  roles.storageBlobDataOwner
  roles.storageQueueDataContributor
  roles.storageTableDataContributor
]

var gpuSizes = {
  'Consumption-GPU-NC24-A100': {
    cpu: 24
    memory: '220Gi'
  }
  'Consumption-GPU-NC8as-T4': {
    cpu: 8
    memory: '56Gi'
  }
}

// Settings both apps read. Functions' identity-based connection: <name>__accountName + __credential (+ __clientId for a
// user-assigned identity) instead of a connection string with a key. host.json values are overridden by
// AzureFunctionsJobHost__<path> settings (the host applies them; our own extensions.pipelines reader must too).
var sharedSettings = {
  AzureWebJobsStorage__accountName: storage.name
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureFunctionsJobHost__extensions__durableTask__hubName: taskHubName
  AzureFunctionsJobHost__extensions__durableTask__storageProvider__type: 'AzureStorage'
  AzureFunctionsJobHost__extensions__durableTask__storageProvider__connectionStringName: 'AzureWebJobsStorage'
  AzureFunctionsJobHost__extensions__pipelines__artifactStore__type: 'azureBlob'
  AzureFunctionsJobHost__extensions__pipelines__artifactStore__connectionStringName: 'AzureWebJobsStorage'
  AzureFunctionsJobHost__extensions__pipelines__artifactStore__container: artifactsContainerName
  AzureFunctionsJobHost__extensions__pipelines__trainerJobs__queueName: trainerJobQueueName
  AzureFunctionsJobHost__extensions__pipelines__trainerJobs__connectionStringName: 'AzureWebJobsStorage'
}

var functionAppSettings = union(
  sharedSettings,
  {
    AzureWebJobsStorage__clientId: functionIdentity.properties.clientId
    APPLICATIONINSIGHTS_CONNECTION_STRING: insights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${functionIdentity.properties.clientId};Authorization=AAD'
    RetrainSchedule: retrainSchedule
  },
  extraAppSettings
)

var trainerSettings = union(sharedSettings, {
  AzureWebJobsStorage__clientId: trainerIdentity.properties.clientId
  AZURE_CLIENT_ID: trainerIdentity.properties.clientId
})

// ---------------------------------------------------------------- monitoring

resource logs 'Microsoft.OperationalInsights/workspaces@2025-07-01' = {
  name: 'log-${baseName}-${suffix}'
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: logRetentionDays
  }
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${baseName}-${suffix}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
    // Telemetry only with an Entra token (the function identity's Monitoring Metrics Publisher role).
    DisableLocalAuth: true
  }
}

// ---------------------------------------------------------------- storage

resource storage 'Microsoft.Storage/storageAccounts@2025-06-01' = {
  name: storageAccountName
  location: location
  tags: tags
  sku: {
    name: storageSku
  }
  kind: 'StorageV2'
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2025-06-01' = {
  parent: storage
  name: 'default'
}

resource artifactsContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-06-01' = {
  parent: blobService
  name: artifactsContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource incomingContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-06-01' = {
  parent: blobService
  name: incomingContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-06-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2025-06-01' = {
  parent: storage
  name: 'default'
}

resource trainerJobQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-06-01' = {
  parent: queueService
  name: trainerJobQueueName
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2025-06-01' = {
  parent: storage
  name: 'default'
}

// Durable Functions' Azure Storage provider keeps its instances and histories in these two tables (it creates them
// itself too; creating them here makes the hub visible before the first run and survives a hub-name typo check).
resource hubTables 'Microsoft.Storage/storageAccounts/tableServices/tables@2025-06-01' = [
  for table in [
    '${taskHubName}Instances'
    '${taskHubName}History'
  ]: {
    parent: tableService
    name: table
  }
]

// ---------------------------------------------------------------- identities and roles

resource functionIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: 'id-${baseName}-functions'
  location: location
  tags: tags
}

resource trainerIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: 'id-${baseName}-trainer'
  location: location
  tags: tags
}

resource functionStorageRoleAssignments 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for role in functionStorageRoles: {
    name: guid(storage.id, functionIdentity.id, role)
    scope: storage
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
      principalId: functionIdentity.properties.principalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource functionInsightsRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(insights.id, functionIdentity.id, roles.monitoringMetricsPublisher)
  scope: insights
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.monitoringMetricsPublisher
    )
    principalId: functionIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// The trainer reads inputs and writes models and checkpoints in the artifacts container only.
resource trainerArtifactsRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(artifactsContainer.id, trainerIdentity.id, roles.storageBlobDataContributor)
  scope: artifactsContainer
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.storageBlobDataContributor
    )
    principalId: trainerIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// The trainer leases, renews and deletes job messages; KEDA reads the queue's length with the same identity.
resource trainerQueueRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(trainerJobQueue.id, trainerIdentity.id, roles.storageQueueDataContributor)
  scope: trainerJobQueue
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.storageQueueDataContributor
    )
    principalId: trainerIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource trainerRegistryRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, trainerIdentity.id, roles.acrPull)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.acrPull)
    principalId: trainerIdentity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource operatorStorageRoleAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(storage.id, operatorPrincipalId, roles.storageBlobDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.storageBlobDataContributor
    )
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
  }
}

// ---------------------------------------------------------------- function app

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: 'plan-${baseName}-${suffix}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2025-03-01' = {
  name: functionAppName
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${functionIdentity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: map(items(functionAppSettings), setting => {
        name: setting.key
        value: setting.value
      })
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: functionIdentity.id
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: functionMaximumInstanceCount
        instanceMemoryMB: functionInstanceMemoryMB
      }
      runtime: {
        name: 'dotnet-isolated'
        version: '10.0'
      }
    }
  }
  // The host reaches storage with the identity as it starts: grant the roles first.
  dependsOn: [
    functionStorageRoleAssignments
    functionInsightsRoleAssignment
    deploymentContainer
  ]
}

// No publishing passwords: code is deployed with an Entra token (az functionapp deployment source config-zip, func azure functionapp publish).
resource functionAppScmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

resource functionAppFtpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

// ---------------------------------------------------------------- blob trigger events (Flex Consumption)

resource storageEvents 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: 'evgt-${baseName}-${suffix}'
  location: location
  tags: tags
  properties: {
    source: storage.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

// The blobs extension's webhook; its key exists only once the code (with the blob trigger) has been published.
resource incomingBlobSubscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = if (!empty(blobTriggerFunctionName)) {
  parent: storageEvents
  name: 'incoming-to-functions'
  properties: {
    destination: {
      endpointType: 'WebHook'
      properties: {
        endpointUrl: 'https://${functionApp.properties.defaultHostName}/runtime/webhooks/blobs?functionName=Host.Functions.${blobTriggerFunctionName}&code=${listKeys('${functionApp.id}/host/default', '2025-03-01').systemKeys.blobs_extension}'
      }
    }
    filter: {
      includedEventTypes: [
        'Microsoft.Storage.BlobCreated'
      ]
      subjectBeginsWith: '/blobServices/default/containers/${incomingContainerName}/'
    }
    eventDeliverySchema: 'EventGridSchema'
  }
  dependsOn: [
    incomingContainer
  ]
}

// ---------------------------------------------------------------- container registry

resource registry 'Microsoft.ContainerRegistry/registries@2025-04-01' = {
  name: registryName
  location: location
  tags: tags
  sku: {
    name: 'Basic'
  }
  properties: {
    adminUserEnabled: false
    anonymousPullEnabled: false
  }
}

// ---------------------------------------------------------------- GPU trainer app

resource containerEnvironment 'Microsoft.App/managedEnvironments@2025-07-01' = {
  name: 'cae-${baseName}-${suffix}'
  location: location
  tags: tags
  properties: {
    // Logs go to the workspace through the diagnostic setting below: no workspace key in the environment.
    appLogsConfiguration: {
      destination: 'azure-monitor'
    }
    workloadProfiles: [
      {
        name: 'Consumption'
        workloadProfileType: 'Consumption'
      }
      {
        name: gpuProfileName
        workloadProfileType: gpuWorkloadProfileType
      }
    ]
  }
}

resource containerEnvironmentLogs 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: containerEnvironment
  properties: {
    workspaceId: logs.id
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
  }
}

resource trainerApp 'Microsoft.App/containerApps@2025-07-01' = if (!empty(trainerImage)) {
  name: take('ca-${baseName}-trainer', 32)
  location: location
  tags: tags
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${trainerIdentity.id}': {}
    }
  }
  properties: {
    environmentId: containerEnvironment.id
    workloadProfileName: gpuProfileName
    configuration: {
      activeRevisionsMode: 'Single'
      // A queue worker: no ingress. Images from our registry are pulled with the identity (AcrPull), never a password.
      registries: startsWith(trainerImage, '${registryName}.')
        ? [
            {
              server: registry.properties.loginServer
              identity: trainerIdentity.id
            }
          ]
        : []
    }
    template: {
      // A stopping replica gets SIGTERM and this long to checkpoint; its job reappears on the queue and resumes.
      terminationGracePeriodSeconds: 600
      containers: [
        {
          name: 'trainer'
          image: trainerImage
          resources: {
            cpu: gpuSizes[gpuWorkloadProfileType].cpu
            memory: gpuSizes[gpuWorkloadProfileType].memory
          }
          env: map(items(trainerSettings), setting => {
            name: setting.key
            value: setting.value
          })
        }
      ]
      scale: {
        minReplicas: 0
        maxReplicas: trainerMaxReplicas
        cooldownPeriod: trainerCooldownSeconds
        pollingInterval: 15
        rules: [
          {
            name: 'trainer-job-queue'
            custom: {
              // KEDA's azure-queue scaler. queueLengthStrategy 'all' counts leased (invisible) jobs too, so a replica
              // that is training keeps its slot instead of being scaled in once the queue looks empty.
              type: 'azure-queue'
              metadata: {
                accountName: storage.name
                queueName: trainerJobQueue.name
                queueLength: string(trainerJobsPerReplica)
                queueLengthStrategy: 'all'
              }
              identity: trainerIdentity.id
            }
          }
        ]
      }
    }
  }
  dependsOn: [
    trainerRegistryRoleAssignment
    trainerQueueRoleAssignment
    trainerArtifactsRoleAssignment
  ]
}

// ---------------------------------------------------------------- outputs

output functionAppName string = functionApp.name
output functionAppUrl string = 'https://${functionApp.properties.defaultHostName}'
output storageAccountName string = storage.name
output registryLoginServer string = registry.properties.loginServer
output containerEnvironmentName string = containerEnvironment.name
output trainerAppName string = empty(trainerImage) ? '' : trainerApp.name
output taskHubName string = taskHubName
